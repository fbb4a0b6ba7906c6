from lipflow.cli import main

main()

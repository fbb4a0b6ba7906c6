"""Running a plan: orchestration (:mod:`.runner`), the one retry engine (:mod:`.retry`), job
states (:mod:`.state`), the journal, uploads, downloads, the budget and the run report.

The run layer reads plans (:mod:`lipflow.jobs`) and providers; it never imports the planner or
the recipe loader.
"""

"""Providers: one package per provider (wire, client, checks, sim, catalog slice), one registry.

See :mod:`lipflow.providers.base` for what a provider is and :mod:`lipflow.providers.registry`
for how they are found. Importing this package loads none of them.
"""

"""Adapters put the framework-free simulator on a transport: HTTP (pytest-httpserver), WebSocket
(websockets), or an in-process httpx transport (no socket at all)."""

"""Packaged Jinja2 templates (installed as ``reminder.templates``); see ``reminder.render``.

This file makes the folder a regular package, so ``importlib.resources.files`` finds it on disk.
"""

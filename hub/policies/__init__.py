"""The rulebook: who may do what to which object, in which state.

``roles`` holds the role sets (the only place one is written), ``rules`` the registry with its
two entry points, ``authorize`` and ``available_actions``. Each app adds its own rows in its
``policies.py`` (``spokes.policies``, ``safeguarding.policies``), loaded when the app is ready.
"""

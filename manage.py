#!/usr/bin/env python
"""Django's command-line utility for VIHub."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line

    from hub.context import operator_from_argv, operator_var

    operator_var.set(operator_from_argv(sys.argv))  # the trail names the shell operator
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""Test-wide settings: hypothesis runs derandomised in CI, so a red CI is reproducible.

Locally the default (random) profile keeps exploring new cases; `--hypothesis-seed=N` or
`CI=true` reproduces a CI run.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

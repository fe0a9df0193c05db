"""``python -m billing_reports``: the same as the ``billing-reports`` command."""

import sys

from billing_reports.cli import main

sys.exit(main())

"""`python -m flight` is the `flight` command."""

import sys

from flight.cli import main

sys.exit(main())

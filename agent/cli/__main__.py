"""`python -m agent.cli` is `interarec`."""

import sys

from agent.cli.main import main

sys.exit(main())

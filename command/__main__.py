"""``python -m command`` is the ``cad`` command line."""

import sys

from command.cli import main

sys.exit(main())

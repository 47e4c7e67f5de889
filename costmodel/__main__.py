import sys

from costmodel_cli.main import main

sys.exit(main())

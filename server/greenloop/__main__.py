from greenloop.cli import main

raise SystemExit(main())

from boxoffice.cli.main import main

main()

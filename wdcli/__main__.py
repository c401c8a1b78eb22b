from wdcli.cli import main

main()

from bulktool.cli import main

main()

// Composition root of pangu-serve: parses the command line and runs a subcommand.
print("pangu-serve")

from greencode.cli import run

run()

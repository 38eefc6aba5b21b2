from scoring.faces.cli import run

run()

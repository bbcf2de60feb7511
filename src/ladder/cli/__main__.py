from ladder.cli import app

app()

from framemesh.cli.main import app

app(prog_name="framemesh")

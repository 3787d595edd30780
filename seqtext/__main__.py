"""``python -m seqtext`` runs the command line."""

from seqtext.cli import cli

if __name__ == "__main__":
    cli(prog_name="seqtext")

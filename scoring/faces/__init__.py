"""The two faces people use: the `scoring` command (cli.py) and the review desk (desk/)."""

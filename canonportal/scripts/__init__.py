"""Console scripts: each opens the database named in an ini file."""

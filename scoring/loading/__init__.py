"""Loading: untrusted files (YAML, workbooks, zips) read into the domain's types, each checked against its
schema and the rubric. Imports base/ and domain/ types, never the engine and never a paper."""

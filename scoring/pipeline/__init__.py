"""The one path from a folder, or one bundle, to scored results: the only room that imports both
loading/ and the engine."""

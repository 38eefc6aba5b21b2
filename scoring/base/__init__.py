"""The floor every room stands on: errors, exact numbers, safe text, the budgets, the package's data, and
files read and written safely. Imports nothing else of the package."""

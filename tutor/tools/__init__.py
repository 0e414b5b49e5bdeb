"""The steps that run: typed tools that call the ML side and return a Reply (`catalog` lists them)."""

"""Plots (Matplotlib) and the helper process that draws them."""

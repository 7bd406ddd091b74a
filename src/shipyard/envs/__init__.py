"""Environment lifecycles: previews, the sandbox and promotions."""

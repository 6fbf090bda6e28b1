"""Built-in penalties plugins: importing this package registers them."""

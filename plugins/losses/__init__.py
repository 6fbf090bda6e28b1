"""Built-in losses plugins: importing this package registers them."""

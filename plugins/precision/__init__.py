"""Built-in precision plugins: importing this package registers them."""

"""A tiny shop: products, a cart, and the pricing rules behind the total."""

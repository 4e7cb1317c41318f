"""The protocol face of greenloop: a thin pygls layer that translates LSP to engine calls and back."""

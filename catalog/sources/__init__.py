"""Builders of the shipped catalogs from the shared third-party data (Flipkart, Myntra, Amazon.in): the demo
catalog and the large one. May import catalog only."""

"""Developer tools: the local demo web shop the browser agent screenshots."""

"""InteraShop, the demo web shop the agent browses in the demo, the tests and the evals (an environment, like
WebShop's): server, listings, pages, the live panel and static assets. May import catalog; never agent or tools."""

"""The services built on the library: the registry (NGO), the matcher (platform) and the intake
page (victim). Apps never import one another."""

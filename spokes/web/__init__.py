"""Server-rendered pages for the region or force holding a task."""

"""The job queue: procrastinate on the PostgreSQL state store. ``client`` defers jobs (the CLI, the web app),
``tasks`` declares what a worker runs, ``connection`` opens the queue and applies its schema."""

"""Label Studio: tasks we send (``tasks``), the server (``client``), and exports we read (``export``)."""

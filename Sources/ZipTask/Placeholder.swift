// ZipTask

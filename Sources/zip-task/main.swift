import ZipTask

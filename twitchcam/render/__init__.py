"""What people read: the style (colours), plots, the report, the annotated video, thumbnails and the diary trend."""

// placeholder: implemented in this file's own change

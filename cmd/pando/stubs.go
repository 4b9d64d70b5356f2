package main

// Placeholders for commands whose own file has not landed yet go here.

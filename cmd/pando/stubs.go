package main

import "context"

// Placeholders replaced by each command's own file as it lands.
func runPublish(ctx context.Context, e *env, args []string) error { return usagef("not yet") }
func runServe(ctx context.Context, e *env, args []string) error   { return usagef("not yet") }
func runMirror(ctx context.Context, e *env, args []string) error  { return usagef("not yet") }
func runVerify(ctx context.Context, e *env, args []string) error  { return usagef("not yet") }

global using NUnit.Framework;
global using Ops_ = AmbientNative.Autograd.Ops;

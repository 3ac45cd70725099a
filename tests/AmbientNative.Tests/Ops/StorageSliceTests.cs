using AmbientNative.Tensors;

namespace AmbientNative.Tests.Ops;

/// <summary>Storage slices: shared memory, offsets that compose, lifetimes held by reference, clear range errors.</summary>
public class StorageSliceTests
{
    [Test]
    public void A_slice_shares_its_parents_memory_at_its_offset()
    {
        using var parent = Tensor.FromArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10);
        using var slice = new Tensor(new Shape(2, 2), parent.Storage.Slice(3, 4));
        Assert.That(slice.ToArray(), Is.EqualTo(new float[] { 3, 4, 5, 6 }));
        slice.Span[1] = -4;
        Assert.That(parent.ToArray()[4], Is.EqualTo(-4f), "a write through the slice lands in the parent");
        Assert.That(((CpuStorage)slice.Storage).Offset, Is.EqualTo(3));
    }

    [Test]
    public void A_slice_of_a_slice_adds_the_offsets()
    {
        using var parent = Tensor.FromArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10);
        using var outer = new Tensor(new Shape(6), parent.Storage.Slice(2, 6));
        using var inner = new Tensor(new Shape(3), outer.Storage.Slice(1, 3));
        Assert.That(inner.ToArray(), Is.EqualTo(new float[] { 3, 4, 5 }));
        Assert.That(((CpuStorage)inner.Storage).Offset, Is.EqualTo(3));
    }

    [Test]
    public void The_parent_memory_lives_until_its_last_slice_is_released()
    {
        var parent = Tensor.FromArray([1, 2, 3, 4], 4);
        var storage = parent.Storage;
        var slice = new Tensor(new Shape(2), storage.Slice(2, 2));
        parent.Dispose();
        Assert.That(storage.IsReleased, Is.False, "the slice still references the parent");
        Assert.That(slice.ToArray(), Is.EqualTo(new float[] { 3, 4 }));
        slice.Dispose();
        Assert.That(storage.IsReleased, Is.True, "releasing the last slice frees the parent");
    }

    [TestCase(-1, 2)]
    [TestCase(3, 2)]
    [TestCase(0, 5)]
    public void A_slice_outside_the_storage_is_refused_with_its_range(int offset, int length)
    {
        using var parent = Tensor.FromArray([1, 2, 3, 4], 4);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => parent.Storage.Slice(offset, length));
        Assert.That(ex!.Message, Does.Contain("does not fit a storage of 4 elements"));
        Assert.That(parent.Storage.IsReleased, Is.False);
        parent.Dispose();
        Assert.That(parent.Storage.IsReleased, Is.True, "a refused slice takes no reference");
    }
}

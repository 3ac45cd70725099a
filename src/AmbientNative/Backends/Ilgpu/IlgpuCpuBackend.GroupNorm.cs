using AmbientNative.Tensors;
using GnArgs = AmbientNative.Backends.Ilgpu.IlgpuGroupNorm.Args;
using GnViews = AmbientNative.Backends.Ilgpu.IlgpuGroupNorm.Views;

namespace AmbientNative.Backends.Ilgpu;

public sealed partial class IlgpuCpuBackend
{
    private IlgpuGroupNorm? _groupNorm;
    internal IlgpuGroupNorm GroupNormKernels => _groupNorm ??= new IlgpuGroupNorm(_runtime);

    public override void GroupNormForward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor y, Tensor mean,
        Tensor rstd, GroupNormArgs args)
    {
        // Absent tensors are stood in for by x; the kernel reads them only when their flag (Affine, Shifted) is set.
        using HostView<float> vx = V(x), vs = V(shift ?? x), vw = V(weight ?? x), vb = V(bias ?? x), vy = V(y), vm = V(mean), vr = V(rstd);
        var views = new GnViews(vx.View, vs.View, vw.View, vb.View, vx.View, vy.View, vm.View, vr.View, vx.View, vx.View, vx.View,
            vx.View, vx.View);
        GroupNormKernels.Forward(views, GnArgs.Of(args, weight != null, shift != null));
        Sync();
        if (args.Dropout is { } m) Dropout(y, y, m.P, m.Seed, m.Counter); // the fast backend's mask, in place
    }

    public override void GroupNormBackward(Tensor x, Tensor? shift, Tensor? weight, Tensor? bias, Tensor mean,
        Tensor rstd, Tensor gy, Tensor? gx, Tensor? gshift, Tensor? gweight, Tensor? gbias, GroupNormArgs args)
    {
        bool paramGrads = gweight != null || gbias != null;
        // Outputs that are not wanted are stood in for by x too: their flags are off, so the kernels never write them.
        var ws = paramGrads ? new float[IlgpuGroupNorm.WorkspaceSize(args)] : [];
        using HostView<float> vx = V(x), vs = V(shift ?? x), vw = V(weight ?? x), vb = V(bias ?? x), vm = V(mean), vr = V(rstd), vgy = V(gy);
        using HostView<float> vgx = V(gx ?? x), vgs = V(gshift ?? x), vgw = V(gweight ?? x), vgb = V(gbias ?? x), vws = V(ws);
        var views = new GnViews(vx.View, vs.View, vw.View, vb.View, vgy.View, vx.View, vm.View, vr.View, vgx.View, vgs.View,
            vws.View, vgw.View, vgb.View);
        var a = GnArgs.Of(args, weight != null, shift != null) with
        {
            WantGx = gx != null ? 1 : 0, WantGShift = gshift != null ? 1 : 0,
            WantGw = gweight != null ? 1 : 0, WantGb = gbias != null ? 1 : 0,
        };
        GroupNormKernels.Backward(views, a);
        Sync();
    }
}

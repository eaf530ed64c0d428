"""Image classification on CIFAR-10 with VGG, as in the PaddlePaddle book (chapter 3).

    python examples/cifar_vgg.py --passes 200

Needs ``cifar-10-python.tar.gz`` in ``$MINIDL_DATA_HOME/cifar/`` (downloaded when the
network allows; otherwise the error says where to put it). On 2 CPU cores one pass over the
50,000 images takes a long time: this is a compatibility example, not a speed claim.
"""

import argparse

import minidl as paddle


def vgg_bn_drop(input):
    def conv_block(ipt, num_filter, groups, dropouts, num_channels=None):
        return paddle.networks.img_conv_group(
            input=ipt, num_channels=num_channels, pool_size=2, pool_stride=2,
            conv_num_filter=[num_filter] * groups, conv_filter_size=3,
            conv_act=paddle.activation.Relu(), conv_with_batchnorm=True,
            conv_batchnorm_drop_rate=dropouts, pool_type=paddle.pooling.Max())

    conv1 = conv_block(input, 64, 2, [0.3, 0], 3)
    conv2 = conv_block(conv1, 128, 2, [0.4, 0])
    conv3 = conv_block(conv2, 256, 3, [0.4, 0.4, 0])
    conv4 = conv_block(conv3, 512, 3, [0.4, 0.4, 0])
    conv5 = conv_block(conv4, 512, 3, [0.4, 0.4, 0])
    drop = paddle.layer.dropout(input=conv5, dropout_rate=0.5)
    fc1 = paddle.layer.fc(input=drop, size=512, act=paddle.activation.Linear())
    bn = paddle.layer.batch_norm(input=fc1, act=paddle.activation.Relu(),
                                 layer_attr=paddle.attr.Extra(drop_rate=0.5))
    return paddle.layer.fc(input=bn, size=512, act=paddle.activation.Linear())


def main(passes=200, batch_size=128):
    paddle.init(use_gpu=False, trainer_count=1)
    image = paddle.layer.data(name="image", type=paddle.data_type.dense_vector(3 * 32 * 32),
                              height=32, width=32)
    net = vgg_bn_drop(image)
    out = paddle.layer.fc(input=net, size=10, act=paddle.activation.Softmax())
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    cost = paddle.layer.classification_cost(input=out, label=label)

    parameters = paddle.parameters.create(cost)
    momentum_optimizer = paddle.optimizer.Momentum(
        momentum=0.9, regularization=paddle.optimizer.L2Regularization(rate=0.0002 * batch_size),
        learning_rate=0.1 / batch_size, learning_rate_decay_a=0.1,
        learning_rate_decay_b=50000 * 100, learning_rate_schedule="discexp")
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=momentum_optimizer)

    def event_handler(event):
        if isinstance(event, paddle.event.EndIteration) and event.batch_id % 100 == 0:
            print(f"pass {event.pass_id}, batch {event.batch_id}, cost {event.cost:.4f}, "
                  f"{event.metrics}")
        if isinstance(event, paddle.event.EndPass):
            # by path: atomic, so a crash mid-save never destroys the previous checkpoint
            trainer.save_parameter_to_tar(f"params_pass_{event.pass_id}.tar")
            result = trainer.test(reader=paddle.batch(paddle.dataset.cifar.test10(),
                                                      batch_size=batch_size))
            print(f"test with pass {event.pass_id}: {result.metrics}")

    trainer.train(reader=paddle.batch(paddle.reader.shuffle(paddle.dataset.cifar.train10(),
                                                            buf_size=50000),
                                      batch_size=batch_size),
                  num_passes=passes, event_handler=event_handler, feeding={"image": 0, "label": 1})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=200)
    args = parser.parse_args()
    main(args.passes)
